"""Every SCIM write, one function each: it takes the company, owns its transaction, row locks
and reference resolution, writes the activity row in that transaction, and returns a
ChangeRecord (the resource, the operation, what changed)."""
