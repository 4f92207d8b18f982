"""CSV exports: a registry of export kinds, and jobs that write large exports in the background.

An export kind (kinds.py) is a name, a header and a row iterator over one company's data. A
small export streams from the web request; a large one becomes an ExportJob that a Celery
worker writes to private storage (services.py, tasks.py), with a status page and a download
for the company's admins (views.py). The provisioning activity is one kind (activity.py);
another list (the people of a company, say) registers its own kind and reuses the rest.
"""
