"""The task operations every dialect shares, with no HTTP in them: routes call these, workers and the relay share
the status manager (`settle`) and the removal of a task with its files."""
