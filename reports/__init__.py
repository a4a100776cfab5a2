"""Board reports and published performance data (`setupmon report`, `setupmon publish`); pure."""
