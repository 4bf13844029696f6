"""The live page (enrich watch): the latest stories and trending entities, served as
they arrive."""
