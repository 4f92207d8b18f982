"""Teams page: each team of the company with its members, company admins only."""

import re

import pytest
from django.urls import reverse

from tests.factories import LearnerFactory, TeamFactory

pytestmark = pytest.mark.django_db

TEAMS_URL = reverse("accounts:team_list")


def team_url(team) -> str:
    return reverse("accounts:team_detail", kwargs={"team_id": team.pk})


@pytest.fixture
def sales(company):
    team = TeamFactory(company=company, display_name="Sales")
    team.members.add(
        LearnerFactory(company=company, display_name="Alice Adams", user_name="alice@contoso.com"),
        LearnerFactory(company=company, display_name="Bob Brown", user_name="bob@contoso.com"),
        LearnerFactory(
            company=company,
            display_name="Carol Gone",
            user_name="carol@contoso.com",
            is_active=False,
        ),
    )
    return team


def test_teams_page_lists_each_team_with_its_members(admin_client, company, sales):
    TeamFactory(company=company, display_name="Engineering")
    response = admin_client.get(TEAMS_URL)
    html = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Teams</h1>" in html
    assert html.index(">Engineering</a>") < html.index(">Sales</a>")  # by name
    assert "3 members" in html
    assert "0 members" in html
    assert "No members." in html
    assert "Alice Adams" in html
    assert "Bob Brown" in html
    assert re.search(r'chip--muted">Carol Gone <span class="visually-hidden">\(deactivated\)', html)


def test_the_dashboard_links_to_the_teams_page(admin_client):
    html = admin_client.get(reverse("accounts:dashboard")).content.decode()
    assert f'href="{TEAMS_URL}"' in html


def test_a_company_without_teams_sees_how_to_get_them(admin_client):
    html = admin_client.get(TEAMS_URL).content.decode()
    assert "No teams yet" in html


def test_another_companys_teams_and_members_never_show(admin_client, other_company, sales, company):
    fabrikam = TeamFactory(company=other_company, display_name="Fabrikam Finance")
    fabrikam.members.add(LearnerFactory(company=other_company, display_name="Frank Fabrikam"))
    html = admin_client.get(TEAMS_URL).content.decode()
    assert "Fabrikam Finance" not in html
    assert "Frank Fabrikam" not in html
    assert admin_client.get(team_url(fabrikam)).status_code == 404


def test_large_team_shows_a_preview_and_links_to_all_its_members(admin_client, company):
    team = TeamFactory(company=company, display_name="Everyone")
    team.members.add(*LearnerFactory.create_batch(60, company=company))

    html = admin_client.get(TEAMS_URL).content.decode()
    assert "60 members" in html
    assert html.count('<li class="chip">') == 8
    assert re.search(rf'href="{team_url(team)}">View all 60 members', html)


def test_team_page_paginates_its_members(admin_client, company):
    team = TeamFactory(company=company, display_name="Everyone")
    members = [
        LearnerFactory(company=company, display_name=f"Member {number:03}") for number in range(60)
    ]
    team.members.add(*members)

    first = admin_client.get(team_url(team)).content.decode()
    assert "<h1>Everyone</h1>" in first
    assert "60 members" in first
    assert "Member 000" in first
    assert "Member 049" in first
    assert "Member 050" not in first
    assert "Page 1 of 2" in first

    second = admin_client.get(team_url(team), {"page": 2}).content.decode()
    assert "Member 050" in second
    assert "Member 059" in second
    assert "Member 000" not in second


def test_teams_list_paginates_and_costs_the_same_queries_for_any_team_size(
    admin_client, company, django_assert_max_num_queries
):
    for number in range(25):
        team = TeamFactory(company=company, display_name=f"Team {number:02}")
        team.members.add(*LearnerFactory.create_batch(number % 4, company=company))

    # session, user, company, page count, teams with counts, one windowed member preview
    with django_assert_max_num_queries(6):
        first = admin_client.get(TEAMS_URL).content.decode()
    assert "Team 00" in first
    assert "Team 19" in first
    assert "Team 20" not in first
    assert "Page 1 of 2" in first
    assert "Team 24" in admin_client.get(TEAMS_URL, {"page": 2}).content.decode()


def test_learners_get_403_on_the_teams_pages(client, company, sales):
    client.force_login(LearnerFactory(company=company))
    assert client.get(TEAMS_URL).status_code == 403
    assert client.get(team_url(sales)).status_code == 403


def test_anonymous_users_are_sent_to_sign_in_from_a_team_page(client, sales):
    response = client.get(team_url(sales))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_teams_search_finds_any_part_of_a_name_and_pages_keep_it(admin_client, company, sales):
    TeamFactory(company=company, display_name="Engineering")
    html = admin_client.get(TEAMS_URL, {"q": "ALE"}).content.decode()
    assert ">Sales</a>" in html
    assert ">Engineering</a>" not in html
    assert 'value="ALE"' in html
    assert "No team's name contains" in admin_client.get(TEAMS_URL, {"q": "zzz"}).content.decode()

    for number in range(25):
        TeamFactory(company=company, display_name=f"Squad {number:02}")
    page = admin_client.get(TEAMS_URL, {"q": "squad"}).content.decode()
    assert 'href="?q=squad&amp;page=2"' in page


def test_team_members_link_to_their_page_and_the_team_links_to_its_activity(admin_client, sales):
    html = admin_client.get(team_url(sales)).content.decode()
    alice = sales.members.get(user_name="alice@contoso.com")
    person = reverse("people:person_detail", kwargs={"person_id": alice.pk})
    assert f'<a href="{person}">Alice Adams</a>' in html
    activity = reverse("integrations:activity")
    assert f'href="{activity}?resource_type=Group&amp;q=Sales">Activity of this team</a>' in html
    response = admin_client.get(f"{activity}?resource_type=Group&q=Sales")
    assert response.status_code == 302
    assert response["Location"].endswith("/activity/?resource_type=Group&q=Sales")
