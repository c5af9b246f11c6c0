"""Calls from one service to another over plain urllib: straight to the configured address.

Never through an HTTP(S)_PROXY from the environment, and never redirected: a redirect is an
error, so credentials and tokens are never re-sent to another address.
"""

import urllib.request


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)
