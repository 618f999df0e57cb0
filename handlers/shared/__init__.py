"""UI pieces more than one capability uses: the unit picker and the date/time step."""
