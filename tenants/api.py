"""The brand's domains through the API: list, add, check now, remove (the backoffice's services)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.schema import error_responses

from .domains import http_token_url, txt_record_name, txt_record_value
from .models import Domain
from .selectors import domain_get, domain_list
from .services import domain_add, domain_make_primary, domain_remove, domain_verify

NO_DOMAIN = {404: "the brand has no such domain (`error.field`: `domain`)"}
DOMAIN = OpenApiParameter(
    "domain", str, OpenApiParameter.PATH, description="the host name, as listed (`club.example.com`)"
)


class DnsRecordSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="`_loyalty-verify.<domain>`")
    type = serializers.CharField(help_text="`TXT`")
    value = serializers.CharField(help_text="`loyalty-verify=<token>`")


class DomainSerializer(serializers.ModelSerializer):
    verified = serializers.SerializerMethodField(help_text="whether the domain serves the brand")
    method = serializers.CharField(
        help_text="how it was verified: `platform` (given by the platform), `dns` or `http`; empty "
        "while unverified"
    )
    dns_record = serializers.SerializerMethodField(
        help_text="to verify by DNS: the TXT record to publish (null once verified)"
    )
    http_url = serializers.SerializerMethodField(
        help_text="to verify by HTTP: the URL that must answer `token` (null once verified); the "
        "platform answers it itself once the domain points here"
    )

    class Meta:
        model = Domain
        fields = [
            "domain",
            "is_primary",
            "verified",
            "verified_at",
            "method",
            "token",
            "dns_record",
            "http_url",
            "checked_at",
            "check_result",
            "created_at",
        ]
        extra_kwargs = {
            "domain": {"help_text": "the host name, lower case, IDNA-encoded (`xn--...`)"},
            "is_primary": {
                "help_text": "the address the brand's links, e-mails and letters use (one per brand; "
                "`POST .../primary` changes it)"
            },
            "token": {"help_text": "the verification token (empty for the platform's domains)"},
            "check_result": {"help_text": "what the last check found (empty once verified)"},
        }

    def get_verified(self, domain: Domain) -> bool:
        return domain.is_verified

    @extend_schema_field(DnsRecordSerializer(allow_null=True))
    def get_dns_record(self, domain: Domain) -> dict[str, str] | None:
        if domain.is_verified:
            return None
        return {
            "name": txt_record_name(domain.domain),
            "type": "TXT",
            "value": txt_record_value(domain.token),
        }

    def get_http_url(self, domain: Domain) -> str | None:
        return None if domain.is_verified else http_token_url(domain.domain, domain.token)


class DomainAddSerializer(serializers.Serializer):
    domain = serializers.CharField(
        max_length=300,
        help_text="a host name of the brand's (`club.example.com`, `bücher.example`); not an IP "
        "address, `localhost` nor the platform's domain",
    )


def _domain_or_404(request: Request, domain: str) -> Domain:
    message = _("no domain '%(domain)s' in this brand") % {"domain": domain}
    return found_or_404(domain_get(brand=request.tenant, domain=domain), field="domain", message=message)


class DomainListView(BrandApi, APIView):
    api_scope = "domains"

    @extend_schema(
        operation_id="domains_list",
        summary="The brand's domains, with their state",
        description="Every host name of the brand: its address on the platform first, then the "
        "domains it added, each verified (it serves the brand's site and API) or not yet (it serves "
        "nothing until its DNS record or HTTP token is found).",
        responses={200: DomainSerializer(many=True)},
    )
    def get(self, request):
        return Response(DomainSerializer(domain_list(brand=request.tenant), many=True).data)

    @extend_schema(
        operation_id="domains_create",
        summary="Add a domain of the brand's",
        description="Adds the domain unverified, with a token to publish: a TXT record "
        "`_loyalty-verify.<domain>` holding `loyalty-verify=<token>`, or the domain pointed at the "
        "platform (which then answers `http://<domain>/.well-known/loyalty-verify/<token>` itself). "
        "It is checked at once in the background, again every few minutes for a week, and on "
        "`POST /domains/{domain}/verification`. A domain already used by any brand is refused.",
        request=DomainAddSerializer,
        responses={
            201: DomainSerializer,
            **error_responses(
                400,
                409,
                422,
                codes={409: ["domain_taken"], 422: ["too_many_domains"]},
                why={
                    400: "not a host name of the brand's (an IP address, `localhost`, the platform's "
                    "domain, malformed): `error.field` is `domain`",
                    409: "the domain is already used, by this brand or another (`error.field`: `domain`)",
                    422: "the brand has as many domains as it may",
                },
            ),
        },
    )
    def post(self, request):
        body = DomainAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        added = domain_add(brand=request.tenant, domain=body.validated_data["domain"])
        return Response(DomainSerializer(added).data, status=status.HTTP_201_CREATED)


class DomainVerificationView(BrandApi, APIView):
    api_scope = "domains"

    @extend_schema(
        operation_id="domains_verify",
        summary="Check a domain's DNS record or HTTP token now",
        description="Looks for the token in DNS, then over HTTP, and answers the domain: `verified` "
        "true once either is found (it serves the brand at once), else `check_result` says what was "
        "found. A verified domain is answered as it is.",
        parameters=[DOMAIN],
        request=None,
        responses={200: DomainSerializer, **error_responses(404, why=NO_DOMAIN)},
    )
    def post(self, request, domain: str):
        return Response(DomainSerializer(domain_verify(domain=_domain_or_404(request, domain))).data)


class DomainPrimaryView(BrandApi, APIView):
    api_scope = "domains"

    @extend_schema(
        operation_id="domains_make_primary",
        summary="Make a domain the brand's primary one",
        description="The primary domain is the address the brand's links, e-mails, letters and QR "
        "codes use; the other domains keep serving the brand. Only a verified domain can be primary.",
        parameters=[DOMAIN],
        request=None,
        responses={
            200: DomainSerializer,
            **error_responses(
                404,
                422,
                codes={422: ["domain_unverified"]},
                why={**NO_DOMAIN, 422: "the domain is not verified yet"},
            ),
        },
    )
    def post(self, request, domain: str):
        return Response(DomainSerializer(domain_make_primary(domain=_domain_or_404(request, domain))).data)


class DomainDetailView(BrandApi, APIView):
    api_scope = "domains"

    @extend_schema(
        operation_id="domains_delete",
        summary="Remove a domain",
        description="The domain stops serving the brand at once. The brand's own address on the "
        "platform cannot be removed, nor its primary domain (make another one primary first).",
        parameters=[DOMAIN],
        responses={
            204: OpenApiResponse(description="removed"),
            **error_responses(
                404,
                422,
                codes={422: ["primary_domain"]},
                why={**NO_DOMAIN, 422: "the brand's address on the platform, or its primary domain"},
            ),
        },
    )
    def delete(self, request, domain: str):
        domain_remove(domain=_domain_or_404(request, domain))
        return Response(status=status.HTTP_204_NO_CONTENT)
