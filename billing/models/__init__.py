"""VIP plans sold on each brand's own Stripe account, the members' subscriptions and their payments
(README.md, "VIP and billing"). The platform-wide parts (connected accounts, the webhook events,
the operator's plans for brands) live in the public schema, in `tenants.models`."""

from .subscriptions import Customer, Payment, Subscription, SubscriptionChange, VipPlan

__all__ = ["Customer", "Payment", "Subscription", "SubscriptionChange", "VipPlan"]
