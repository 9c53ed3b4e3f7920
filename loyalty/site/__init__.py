"""The member site's pages of the loyalty app (issue 13), one module per part: activation, join,
account. Their routes are in `loyalty.site.urls`, included by `config.urls_tenant`."""
