"""GOV.UK Notify's delivery receipts (callbacks), authenticated by a bearer token."""

import hmac
import json

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from forms_app.delivery import services
from forms_app.delivery.backends import NOTIFY_STATUS


@csrf_exempt
@require_POST
def notify_callback(request):
    expected = settings.NOTIFY_CALLBACK_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return HttpResponse(status=401)
    try:
        payload = json.loads(request.body)
        provider_id = str(payload["id"])
        status = NOTIFY_STATUS.get(str(payload["status"]))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected JSON with id and status"}, status=400)
    services.record_delivery_status(provider_id=provider_id, status=status)
    # Unknown ids and repeated receipts are accepted too: Notify need not retry them.
    return HttpResponse(status=204)
