"""Revoked access tokens: each data service's deny list, keyed by user and issued-at (docs/security.md).

Access tokens are verified without a call to the User Service, so a token stays valid until it
expires unless every service also knows it was revoked. The User Service records a revocation
(deactivation, a password change, signing out everywhere) in its own database and publishes
`user.tokens_revoked`; grants and finance record it from the bus. Each web process reads the
list at most once a second, so a revoked token is refused everywhere within seconds.
"""
