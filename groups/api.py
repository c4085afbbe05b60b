"""The groups part of the REST API: groups, memberships, join/leave, approve/decline."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import memberships as services
from . import selectors
from .models import CommunityGroup, Membership
from .permissions import can_manage_group


class GroupOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=CommunityGroup.Kind.choices)
    description = serializers.CharField()
    join_policy = serializers.ChoiceField(choices=CommunityGroup.JoinPolicy.choices)
    organisation = serializers.CharField(source="organisation.slug")
    area = serializers.CharField(source="area.code", allow_null=True, default=None)
    is_synthetic = serializers.BooleanField()


class MembershipOutput(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.SlugField(source="group.slug")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    status = serializers.ChoiceField(choices=Membership.Status.choices)
    share_contact = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class RosterMemberOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership's id.")
    name = serializers.CharField(source="member.get_full_name")
    email = serializers.EmailField(source="member.email")
    phone = serializers.CharField(source="member.phone", allow_blank=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class PendingOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership's id: approve or decline it.")
    name = serializers.CharField(source="member.get_full_name")
    created_at = serializers.DateTimeField()


class RosterOutput(serializers.Serializer):
    shared = RosterMemberOutput(many=True, help_text="Members who agreed to share their details.")
    not_shared_count = serializers.IntegerField(help_text="How many other members there are.")
    pending = PendingOutput(many=True)


class JoinInput(serializers.Serializer):
    share_contact = serializers.BooleanField(default=False)


def _group(request, slug: str) -> CommunityGroup:
    return get_object_or_404(selectors.groups_visible_to(viewer=request.user), slug=slug)


class GroupListApi(generics.ListAPIView):
    """Groups you can see: yours and those open to you (officers: their organisation's). Paginated."""

    serializer_class = GroupOutput

    def get_queryset(self):
        return selectors.groups_visible_to(viewer=self.request.user).order_by("name")

    @extend_schema(summary="List groups")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class GroupDetailApi(APIView):
    @extend_schema(responses=GroupOutput, summary="One group")
    def get(self, request, slug: str):
        return Response(GroupOutput(_group(request, slug)).data)


class GroupJoinApi(APIView):
    """Join a group, or ask to (its join policy decides). Joining twice changes nothing."""

    @extend_schema(request=JoinInput, responses={201: MembershipOutput, 200: MembershipOutput}, summary="Join")
    def post(self, request, slug: str):
        group = _group(request, slug)
        data = JoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        existed = Membership.objects.filter(group=group, member=request.user).exists()
        membership = services.group_join(member=request.user, group=group, **data.validated_data)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(MembershipOutput(membership).data, status=code)


class GroupLeaveApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Leave a group")
    def post(self, request, slug: str):
        services.group_leave(member=request.user, group=_group(request, slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyMembershipsApi(APIView):
    @extend_schema(responses=MembershipOutput(many=True), summary="Your memberships")
    def get(self, request):
        return Response(MembershipOutput(selectors.groups_of(member=request.user), many=True).data)


class GroupRosterApi(APIView):
    """For a group's coordinators and its organisation's officers: who is in it, as far as they may see."""

    @extend_schema(responses=RosterOutput, summary="A group's members (coordinators)")
    def get(self, request, slug: str):
        group = _group(request, slug)
        if not can_manage_group(member=request.user, group=group):
            raise PermissionDenied("Only this group's coordinators can see its members.")
        return Response(RosterOutput(selectors.group_roster(group=group, viewer=request.user)).data)


class MembershipDecideApi(APIView):
    """Approve or decline someone who asked to join."""

    decision: bool = True

    @extend_schema(request=None, responses={200: MembershipOutput, 204: None}, summary="Decide a request to join")
    def post(self, request, slug: str, pk: int):
        group = _group(request, slug)
        if not can_manage_group(member=request.user, group=group):
            raise PermissionDenied("Only this group's coordinators can approve joiners.")
        pending = selectors.group_roster(group=group, viewer=request.user)["pending"]
        membership = get_object_or_404(pending.select_related("group"), pk=pk)
        result = services.membership_decide(actor=request.user, membership=membership, approve=self.decision)
        if result is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(MembershipOutput(result).data)


class MembershipApproveApi(MembershipDecideApi):
    decision = True


class MembershipDeclineApi(MembershipDecideApi):
    decision = False
