"""The directory data Entra keeps on a user beyond what django.contrib.auth stores."""

import uuid

from django.conf import settings
from django.db import models


class DirectoryProfile(models.Model):
    """A user's Entra object id (the `oid` claim, immutable) and display name (`name`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_profile"
    )
    oid = models.UUIDField(default=uuid.uuid4, unique=True)
    display_name = models.CharField(max_length=256, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.oid})"
