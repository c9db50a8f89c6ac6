"""CityWatch: plan, schedule and evaluate armed police deployments against terrorism."""

__version__ = "0.1.0"
