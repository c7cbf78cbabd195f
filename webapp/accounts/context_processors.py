def current_account(request):
    return {"current_account": getattr(request, "account", None)}
