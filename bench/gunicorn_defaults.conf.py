# The bench starts the app and its baseline with this file, so that both run with gunicorn's
# defaults: without it the app (started in the repository) would load gunicorn.conf.py and
# its access log, and the baseline would not. Sets nothing on purpose.
