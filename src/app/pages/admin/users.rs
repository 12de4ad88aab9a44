use super::AdminTabs;
use crate::api::accounts::get_members;
use crate::app::components::copy_field::CopyField;
use crate::model::paths;
use crate::model::{InviteView, MemberView, Role, UserId};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| get_members());
    view! {
        <Title text="Users"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <section class="card">
            <h2>"Invite a teammate"</h2>
            <form method="post" action=paths::CREATE_INVITE class="inline-form">
                <label>
                    "Email (optional)"
                    <input type="email" name="email" placeholder="teammate@example.com"/>
                </label>
                <label>
                    "Role"
                    <select name="role">
                        <option value="member" selected>"Member"</option>
                        <option value="admin">"Admin"</option>
                    </select>
                </label>
                <button type="submit" class="button primary">"Create invite link"</button>
            </form>
            <p class="hint">"Links are valid for 7 days and can be used once. With an email, only that address can use it."</p>
        </section>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! {
                        <Invites invites=p.invites/>
                        <Members members=p.members me=p.me/>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Invites(invites: Vec<InviteView>) -> impl IntoView {
    if invites.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="card">
            <h2>"Pending invites"</h2>
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"For"</th><th>"Role"</th><th>"Link"</th><th>"Expires"</th><th></th></tr></thead>
                    <tbody>
                        {invites.into_iter().map(|i| view! {
                            <tr data-invite=i.id.to_string()>
                                <td data-label="For">{i.email.clone().unwrap_or_else(|| "anyone with the link".to_owned())}</td>
                                <td data-label="Role"><span class=format!("badge badge-{}", i.role)>{i.role.to_string()}</span></td>
                                <td data-label="Link" class="link-cell"><CopyField value=i.link.clone() label="Invite link".to_owned()/></td>
                                <td data-label="Expires" class="nowrap">{i.expires_at[..10].to_owned()}</td>
                                <td class="actions">
                                    <form method="post" action=paths::REVOKE_INVITE.to(i.id)>
                                        <button type="submit" class="button small danger-outline">"Revoke"</button>
                                    </form>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn Members(members: Vec<MemberView>, me: UserId) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{format!("Members ({})", members.len())}</h2>
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Time zone"</th><th>"Joined"</th><th></th></tr></thead>
                    <tbody>
                        {members.into_iter().map(|m| {
                            let is_me = m.id == me;
                            let other_role = if m.role == Role::Admin { Role::Member } else { Role::Admin };
                            view! {
                                <tr data-member=m.email.clone()>
                                    <td data-label="Name">{m.name.clone()}{is_me.then(|| view! { <span class="muted">" (you)"</span> })}</td>
                                    <td data-label="Email">{m.email.clone()}</td>
                                    <td data-label="Role"><span class=format!("badge badge-{}", m.role)>{m.role.to_string()}</span></td>
                                    <td data-label="Time zone">{m.time_zone.clone()}</td>
                                    <td data-label="Joined" class="nowrap">{m.joined_at[..10].to_owned()}</td>
                                    <td class="actions">
                                        <form method="post" action=paths::CHANGE_ROLE.to(m.id)>
                                            <input type="hidden" name="role" value=other_role.as_str()/>
                                            <button type="submit" class="button small">
                                                {if other_role == Role::Admin { "Make admin" } else { "Make member" }}
                                            </button>
                                        </form>
                                        {(!is_me).then(|| view! {
                                            <form method="post" action=paths::REMOVE_MEMBER.to(m.id)>
                                                <button type="submit" class="button small danger-outline">"Remove"</button>
                                            </form>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
