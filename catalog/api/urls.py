"""URLs of the catalogue REST API (gifts and what the backoffice does with them, categories,
redemptions, order status for fulfilment partners)."""

from django.urls import path

from . import gift_admin, views

urlpatterns = [
    path("gifts", gift_admin.GiftListCreateView.as_view(), name="api-gifts"),
    path("gifts/<int:gift_id>", gift_admin.GiftDetailView.as_view(), name="api-gift"),
    path("gifts/<int:gift_id>/photos", gift_admin.GiftPhotosView.as_view(), name="api-gift-photos"),
    path(
        "gifts/<int:gift_id>/photos/<int:photo_id>",
        gift_admin.GiftPhotoDetailView.as_view(),
        name="api-gift-photo",
    ),
    path("gifts/<int:gift_id>/vouchers", gift_admin.GiftVouchersView.as_view(), name="api-gift-vouchers"),
    path("gift-categories", gift_admin.CategoryListView.as_view(), name="api-gift-categories"),
    path("gift-categories/<slug:slug>", gift_admin.CategoryDetailView.as_view(), name="api-gift-category"),
    path(
        "members/<str:external_id>/redemptions",
        views.MemberRedemptionsView.as_view(),
        name="api-member-redemptions",
    ),
    path("orders/<int:order_id>", views.OrderDetailView.as_view(), name="api-order"),
    path("orders/<int:order_id>/status", views.OrderStatusView.as_view(), name="api-order-status"),
]
