"""The user project's own ``models`` package (a name splitbrain must not claim)."""
