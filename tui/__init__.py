"""prisme-deploy: version, promote and roll back Prisme.ai workspaces across environments."""

__version__ = "0.1.0"
