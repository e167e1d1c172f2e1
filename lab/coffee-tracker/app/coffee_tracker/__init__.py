"""Coffee Tracker API: log coffees and heart rates, with operational endpoints for the lab."""
