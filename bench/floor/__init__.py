"""The framework floor: the least a Django + DRF read can cost on this machine (issue 21).

One DRF view, one indexed query returning 20 rows of the grants database, no middleware, no
authentication, JSON out, served by the same gunicorn configuration and worker count as the data
services (`hms/deploy/gunicorn.py`). `make bench` reports the services' reads as a ratio of it.
"""
