"""Reading EDGE and CPMS exports into milestone events (`setupmon import`); pure, no broker."""
