"""``make doctor``: the pre-deployment checklist (cli -> checks -> aws_adapter)."""
