"""Settings: `base` (env-driven), `dev` (embedded defaults), `production`, `test`."""
