"""What the assistant says and knows, as files read in one place each (docs/architecture.md):
:mod:`content.domain` reads ``domain.yml``."""
