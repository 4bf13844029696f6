"""The worker process: the Faust app, the stage agents (read -> run -> publish -> mark
-> commit), their health loops, and what stands in for a refused write."""
