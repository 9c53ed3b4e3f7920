"""URLs of the catalogue REST API (gifts, redemptions, order status for fulfilment partners)."""

from django.urls import path

from . import views

urlpatterns = [
    path("gifts", views.GiftListView.as_view(), name="api-gifts"),
    path("gifts/<int:gift_id>", views.GiftDetailView.as_view(), name="api-gift"),
    path(
        "members/<str:external_id>/redemptions",
        views.MemberRedemptionsView.as_view(),
        name="api-member-redemptions",
    ),
    path("orders/<int:order_id>", views.OrderDetailView.as_view(), name="api-order"),
    path("orders/<int:order_id>/status", views.OrderStatusView.as_view(), name="api-order-status"),
]
