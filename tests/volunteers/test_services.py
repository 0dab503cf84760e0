import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone

from civportal.errors import Conflict
from volunteers import services
from volunteers.models import Signup, Volunteer

from .conftest import make_activity, make_volunteer


@pytest.mark.django_db(transaction=True)
def test_capacity_holds_when_twenty_volunteers_sign_up_at_once_for_ten_places(city, personas, on_postgresql):
    activity = make_activity(city.community_a1, capacity=10)
    volunteers = [make_volunteer(city.community_a1, name=f"志愿者{i}") for i in range(20)]
    organiser = personas.handler_a
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def sign_up(volunteer):
        try:
            barrier.wait(timeout=10)
            services.signup_create(actor=organiser, activity=activity, volunteer=volunteer)
            result = "ok"
        except Conflict:
            result = "full"
        except Exception as exc:  # anything else is a bug the assertion below reports
            result = repr(exc)
        finally:
            close_old_connections()
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=sign_up, args=(v,)) for v in volunteers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["full"] * 10 + ["ok"] * 10
    assert Signup.objects.filter(activity=activity).taking_places().count() == 10


def test_volunteer_signs_up_themselves_and_cannot_take_two_places(vol):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    assert signup.status == Signup.Status.SIGNED_UP and signup.signed_up_by == vol.account
    with pytest.raises(ValidationError):
        services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)


def test_volunteer_cannot_sign_up_someone_else(vol):
    with pytest.raises(PermissionDenied):
        services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.other)


def test_cancelled_place_is_freed_for_the_next_volunteer(vol, city):
    activity = make_activity(city.community_a1, capacity=1)
    signup = services.signup_create(actor=vol.account, activity=activity, volunteer=vol.own)
    services.signup_cancel(actor=vol.account, signup=signup)
    services.signup_create(actor=vol.handler_c1, activity=activity, volunteer=make_volunteer(city.community_a1))
    assert activity.signups.taking_places().count() == 1


def test_cancel_after_start_is_refused(vol):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    with pytest.raises(ValidationError):
        services.signup_cancel(actor=vol.account, signup=signup, now=vol.activity.starts_at + timedelta(minutes=1))


def test_sign_up_closes_at_the_start(vol):
    with pytest.raises(ValidationError):
        services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own,
                               now=vol.activity.starts_at)


def test_minutes_count_only_inside_the_activity_time(vol):
    a = vol.activity
    signup = services.signup_create(actor=vol.account, activity=a, volunteer=vol.own)
    services.signup_check_in(actor=vol.handler_c1, signup=signup, now=a.starts_at - timedelta(minutes=20))
    signup = services.signup_check_out(actor=vol.handler_c1, signup=signup, now=a.ends_at + timedelta(minutes=30))
    assert signup.minutes == 120
    assert signup.check_in_method == Signup.Method.ORGANISER and signup.checked_in_by == vol.handler_c1


def test_check_in_before_the_window_is_refused(vol):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    with pytest.raises(ValidationError):
        services.signup_check_in(actor=vol.handler_c1, signup=signup, now=vol.activity.starts_at - timedelta(hours=2))


def test_only_the_organiser_checks_volunteers_in(vol, personas):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    for actor in (personas.handler_b, personas.leader, vol.account):
        with pytest.raises(PermissionDenied):
            services.signup_check_in(actor=actor, signup=signup, now=vol.activity.starts_at)


def test_second_check_in_is_a_conflict(vol):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    services.signup_check_in(actor=vol.handler_c1, signup=signup, now=vol.activity.starts_at)
    with pytest.raises(Conflict):
        services.signup_check_in(actor=vol.handler_c1, signup=signup, now=vol.activity.starts_at)


def _attended(vol, minutes_after_start=90):
    a = vol.activity
    signup = services.signup_create(actor=vol.account, activity=a, volunteer=vol.own)
    services.signup_check_in(actor=vol.handler_c1, signup=signup, now=a.starts_at)
    return services.signup_check_out(actor=vol.handler_c1, signup=signup,
                                     now=a.starts_at + timedelta(minutes=minutes_after_start))


def test_approve_hours_writes_one_ledger_entry_and_refuses_a_second(vol):
    signup = _attended(vol)
    entry = services.signup_approve_hours(actor=vol.handler_c1, signup=signup)
    assert (entry.minutes, entry.volunteer, entry.served_at) == (90, vol.own, signup.checked_in_at)
    with pytest.raises(Conflict):
        services.signup_approve_hours(actor=vol.handler_c1, signup=signup)


def test_approved_minutes_cannot_exceed_check_in_out(vol):
    signup = _attended(vol)
    with pytest.raises(ValidationError):
        services.signup_approve_hours(actor=vol.handler_c1, signup=signup, minutes=91)
    assert services.signup_approve_hours(actor=vol.handler_c1, signup=signup, minutes=60).minutes == 60


def test_hours_need_check_out_before_approval(vol):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    services.signup_check_in(actor=vol.handler_c1, signup=signup, now=vol.activity.starts_at)
    with pytest.raises(ValidationError):
        services.signup_approve_hours(actor=vol.handler_c1, signup=signup)


def test_no_show_is_recorded_after_the_start_only(vol):
    signup = services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    with pytest.raises(ValidationError):
        services.signup_mark_no_show(actor=vol.handler_c1, signup=signup, now=vol.activity.starts_at - timedelta(minutes=1))
    signup = services.signup_mark_no_show(actor=vol.handler_c1, signup=signup, now=vol.activity.starts_at)
    assert signup.status == Signup.Status.NO_SHOW and signup.no_show_at == vol.activity.starts_at


def test_completing_an_activity_turns_missing_volunteers_into_no_shows(vol, city):
    a = vol.activity
    came = services.signup_create(actor=vol.account, activity=a, volunteer=vol.own)
    missing = services.signup_create(actor=vol.handler_c1, activity=a, volunteer=make_volunteer(city.community_a1))
    services.signup_check_in(actor=vol.handler_c1, signup=came, now=a.starts_at)
    services.activity_complete(actor=vol.handler_c1, activity=a, now=a.ends_at)
    missing.refresh_from_db()
    came.refresh_from_db()
    assert (missing.status, came.status) == (Signup.Status.NO_SHOW, Signup.Status.ATTENDED)
    assert missing.history.first().history_user == vol.handler_c1


def test_qr_scan_checks_in_then_out(vol):
    a = vol.activity
    services.signup_create(actor=vol.account, activity=a, volunteer=vol.own)
    token = services.activity_qr_token(a)
    signup = services.signup_scan(actor=vol.account, token=token, now=a.starts_at + timedelta(minutes=5))
    assert signup.status == Signup.Status.ATTENDED and signup.check_in_method == Signup.Method.QR
    signup = services.signup_scan(actor=vol.account, token=token, now=a.starts_at + timedelta(minutes=65))
    assert signup.minutes == 60
    with pytest.raises(Conflict):
        services.signup_scan(actor=vol.account, token=token, now=a.starts_at + timedelta(minutes=70))


def test_qr_token_expires_two_hours_after_the_end_and_rejects_tampering(vol):
    a = vol.activity
    token = services.activity_qr_token(a)
    assert services.activity_from_qr_token(token, now=a.ends_at + timedelta(minutes=119)) == a
    with pytest.raises(ValidationError, match="expired|过期"):
        services.activity_from_qr_token(token, now=a.ends_at + timedelta(minutes=121))
    with pytest.raises(ValidationError):
        services.activity_from_qr_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), now=a.starts_at)


def test_qr_scan_without_a_sign_up_is_refused(vol):
    with pytest.raises(ValidationError):
        services.signup_scan(actor=vol.account, token=services.activity_qr_token(vol.activity),
                             now=vol.activity.starts_at)


def test_reminders_due_selects_places_in_activities_starting_tomorrow_shanghai(vol, city):
    from zoneinfo import ZoneInfo

    from datetime import datetime

    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 3, 9, 23, 30, tzinfo=shanghai)  # 15:30 UTC: "tomorrow" is 10 March in Shanghai
    tomorrow_early = make_activity(city.community_a1, starts_at=datetime(2026, 3, 10, 0, 30, tzinfo=shanghai))
    tomorrow_late = make_activity(city.community_a1, starts_at=datetime(2026, 3, 10, 22, 0, tzinfo=shanghai))
    day_after = make_activity(city.community_a1, starts_at=datetime(2026, 3, 11, 0, 0, tzinfo=shanghai))
    today = make_activity(city.community_a1, starts_at=datetime(2026, 3, 9, 23, 50, tzinfo=shanghai))
    wanted = []
    for activity in (tomorrow_early, tomorrow_late, day_after, today):
        signup = Signup.objects.create(activity=activity, volunteer=make_volunteer(city.community_a1))
        if activity in (tomorrow_early, tomorrow_late):
            wanted.append(signup)
    cancelled = Signup.objects.create(activity=tomorrow_early, volunteer=make_volunteer(city.community_a1),
                                      status=Signup.Status.CANCELLED)
    due = list(services.activity_reminders_due(now))
    assert due == wanted
    assert cancelled not in due


def test_refusal_needs_a_reason_and_another_communitys_handler_cannot_review(vol, personas):
    applicant = make_volunteer(vol.community_a2, status=Volunteer.Status.APPLIED)
    with pytest.raises(ValidationError):
        services.volunteer_review(actor=personas.handler_a, volunteer=applicant, approve=False)
    with pytest.raises(PermissionDenied):  # handler of community A1 does not review A2
        services.volunteer_review(actor=vol.handler_c1, volunteer=applicant, approve=True)


def test_handler_over_the_community_approves_an_application(vol, personas):
    applicant = make_volunteer(vol.community_a2, status=Volunteer.Status.APPLIED)
    approved = services.volunteer_review(actor=personas.handler_a, volunteer=applicant, approve=True)
    assert approved.status == Volunteer.Status.ACTIVE and approved.reviewed_by == personas.handler_a
    assert approved.history.first().history_user == personas.handler_a
    with pytest.raises(Conflict):
        services.volunteer_review(actor=personas.handler_a, volunteer=applicant, approve=True)


def test_suspended_volunteer_cannot_sign_up(vol, personas):
    services.volunteer_set_status(actor=personas.handler_a, volunteer=vol.other, status=Volunteer.Status.SUSPENDED,
                                  reason="违反服务规范")
    vol.other.refresh_from_db()
    with pytest.raises(ValidationError):
        services.signup_create(actor=personas.handler_a, activity=vol.activity, volunteer=vol.other)


def test_capacity_cannot_drop_below_places_taken(vol):
    services.signup_create(actor=vol.account, activity=vol.activity, volunteer=vol.own)
    a = vol.activity
    with pytest.raises(ValidationError):
        services.activity_update(actor=vol.handler_c1, activity=a, title=a.title, category=a.category,
                                 address=a.address, starts_at=a.starts_at, ends_at=a.ends_at, capacity=0)
