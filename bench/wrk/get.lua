-- Keep-alive GET / (the path comes from the URL).
wrk.method = "GET"
