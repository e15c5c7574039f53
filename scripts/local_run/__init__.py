"""``make local``: the whole system on this machine (cli -> flow -> world adapters)."""
