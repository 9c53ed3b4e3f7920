"""The member site's VIP pages and the sandbox's Stripe pages (included at the root of the brand's host)."""

from django.urls import path

from . import site

urlpatterns = [
    path("vip/", site.vip_home, name="billing-vip"),
    path("vip/plans/<int:plan_id>/subscribe/", site.vip_subscribe, name="billing-vip-subscribe"),
    path("vip/manage/", site.vip_manage, name="billing-vip-manage"),
    path("vip/success/", site.vip_success, name="billing-vip-success"),
    path("vip/cancel/", site.vip_cancel, name="billing-vip-cancel"),
    path("vip/sandbox/checkout/<str:session_id>/", site.sandbox_checkout, name="billing-sandbox-checkout"),
    path("vip/sandbox/portal/<str:session_id>/", site.sandbox_portal, name="billing-sandbox-portal"),
]
