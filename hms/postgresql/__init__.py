"""The PostgreSQL database backend of every service: Django's own, with timestamps read in C.

`hms/settings/base.py` names it as the ENGINE of every PostgreSQL database (`hms.postgresql`).
"""
