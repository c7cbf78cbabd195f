app_name = "flywheel_app"

urlpatterns: list = []
