"""The scenario model: places, people, force, threat and the payoff model."""
