"""The web console: server-rendered pages for staff, enterprises and the public over the services' HTTP APIs."""
