from django.conf import settings


def service(request):
    return {"trust_name": settings.TRUST_NAME, "service_name": settings.SERVICE_NAME}
