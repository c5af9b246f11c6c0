"""One settings module per deployable service (users, grants, finance, gateway) plus `test`.

Every module builds on `base`; the environment, never a production-only module, switches behaviour.
"""
