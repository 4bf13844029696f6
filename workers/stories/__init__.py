"""Stories: near-duplicate grouping and trending entities, stateful in Faust tables."""
