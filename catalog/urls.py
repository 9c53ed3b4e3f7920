"""The member site's catalogue pages (included at the root of the brand's host)."""

from django.urls import path

from . import views

urlpatterns = [
    path("gifts/", views.gift_list, name="catalog-gifts"),
    path("gifts/<int:gift_id>/", views.gift_detail, name="catalog-gift"),
    path("gifts/<int:gift_id>/redeem/", views.gift_redeem, name="catalog-gift-redeem"),
    path("orders/", views.order_list, name="catalog-orders"),
    path("orders/<int:order_id>/", views.order_detail, name="catalog-order"),
    path("orders/<int:order_id>/cancel/", views.order_cancel_view, name="catalog-order-cancel"),
]
