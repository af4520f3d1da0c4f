# The versioned guidelines library (editions, provisions) is built by its own issue.
