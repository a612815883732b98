"""No typed client: no service calls the gateway (it calls them), and tools reach it over HTTP.

The module stays so every service has the same shape; a caller that needs one adds it here.
"""
