import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
application = get_wsgi_application()

# Load jieba's dictionary and the opencc tables now, beside the first requests, rather than
# inside the first search (the loaders are locked, so a search meanwhile simply waits).
from rapport.core.search.text import warm_up  # noqa: E402

threading.Thread(target=warm_up, name="search-warm-up", daemon=True).start()
