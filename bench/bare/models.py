from django.db import models


class BareUser(models.Model):
    """A user as the bare endpoint stores it: its name (unique, indexed) and the body sent."""

    user_name = models.CharField(max_length=256, unique=True)
    body = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.user_name
