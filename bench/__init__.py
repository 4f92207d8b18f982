"""Load and scale benchmarks of the SCIM endpoint (`make bench`); see bench/README.md."""
