"""Local stand-ins for the parts of AWS this product runs on.

Used by the test suite, ``make local`` and ``benchmarks/`` alike, so that all three
exercise the product against the same real pieces:

* :mod:`harness.mariadb` - a throwaway MariaDB server with TLS, started from the
  installed binaries on a free 127.0.0.1 port (Aurora MySQL's stand-in);
* :mod:`harness.aws` - offline AWS settings and a moto server on 127.0.0.1.

Nothing here is deployed; nothing here talks to an address outside 127.0.0.0/8.
"""
