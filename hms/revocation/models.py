"""A service's deny list of access tokens (hms.revocation)."""

from django.db import models


class TokenRevocation(models.Model):
    """Every token of this user issued at or before `not_before_ms` is refused.

    One row per user: a later revocation moves `not_before_ms` forward. Kept until no token it
    refuses can still be valid (the refresh token's lifetime, the longest), then pruned.
    """

    user_id = models.PositiveBigIntegerField(primary_key=True)
    # Milliseconds since the epoch: a token's `iat` has whole seconds, and a sign-in in the same
    # second after the revocation must still be accepted (tokens carry `iat_ms` for this).
    not_before_ms = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=40)
    recorded_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "revoked tokens of a user"
        verbose_name_plural = "revoked tokens"

    def __str__(self) -> str:
        return f"tokens of user #{self.user_id} up to {self.not_before_ms} ({self.reason})"
