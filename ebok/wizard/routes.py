"""The wizard's steps as views. Each is a MethodView made for a flow with
`as_view(step, flow=...)`; add_steps() registers them all on a feature's blueprint."""

from typing import Any

from flask import Blueprint, flash, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from ebok.extensions import db
from ebok.i18n import _l
from ebok.identity import sessions, throttle, verification
from ebok.identity.sessions import prefill_login, record_login, start_session
from ebok.identity.signing import Outcome
from ebok.models import Customer, Verification
from ebok.web.forms import Problem, refuse_throttled
from ebok.web.htmx import VARY, is_partial_request, redirect_to, render_form, render_panel
from ebok.web.titles import link_problem_heading
from ebok.wizard import service, state
from ebok.wizard.flow import Completion, Flow
from ebok.wizard.forms import ChannelForm, CodeForm, PasswordForm
from ebok.wizard.sms_delay import code_sms


class Step(MethodView):
    """What every step shares: its flow, the wizard's state, and rendering. Each step
    declares its heading (heading()): the fragment's <h1> shows it, the <title> starts
    with it."""

    init_every_request = False  # one instance per flow: it holds the flow and nothing else
    template: str  # the fragment: templates/wizard/_<template>.html

    def __init__(self, flow: Flow) -> None:
        self.flow = flow

    def dispatch_request(self, **kwargs: Any) -> ResponseReturnValue:
        if request.method == "POST" and request.form.get("action") == "cancel":
            state.clear()
            return redirect_to(url_for("auth.login"))
        return super().dispatch_request(**kwargs)

    def step_url(self, step: str, **values: Any) -> str:
        return url_for(f"{self.flow.name}.{step}", **values)

    def go(self, step: str) -> ResponseReturnValue:
        return redirect_to(self.step_url(step))

    def render(
        self,
        form: FlaskForm | None = None,
        status: int | None = None,
        template: str | None = None,
        **context: Any,
    ) -> ResponseReturnValue:
        context.update(title=self.flow.title, flow=self.flow, step_url=self.step_url)
        if "heading" not in context:  # a step's other outcome (no_contact) brings its own
            context["heading"] = self.heading(form)
        fragment = f"wizard/_{template or self.template}.html"
        if form is None:
            return render_panel(fragment, status=status or 200, **context)
        return render_form(fragment, form, status=status, **context)

    def heading(self, form: FlaskForm | None) -> str | None:
        """The step's heading, unless the view passes one for another outcome."""
        return None

    def refuse(
        self, form: FlaskForm, problem: Problem | RateLimitExceeded, **context: Any
    ) -> ResponseReturnValue:
        """The form again with what went wrong: 422 for a problem, 429 when throttled."""
        if isinstance(problem, Problem):
            problem.put_on(form)
            return self.render(form, **context)
        # Translators: a form error in the steps of Registration and Forgotten password;
        # %(wait)s is a sentence saying when to try again ("Try again in 5 minutes (at
        # 16:45).").
        status = refuse_throttled(form, _l("You have tried too many times. %(wait)s"))
        return self.render(form, status, **context)

    def wizard(self) -> dict:
        return state.load(self.flow.name)

    def customer(self) -> Customer | None:
        """The customer the wizard is for, unless the flow refuses them now (finished in
        another tab or window, for example)."""
        customer = db.session.get(Customer, self.wizard().get("customer_id") or 0)
        refusal = self.flow.refusal(customer) if customer is not None else None
        if refusal:
            state.clear()
            flash(refusal, "status")
            return None
        return customer

    def sent(self, channel: str) -> Verification | None:
        """The code or link the wizard sent by this channel."""
        wizard = self.wizard()
        if wizard.get("channel") != channel or not wizard.get("verification_id"):
            return None
        return db.session.get(Verification, wizard["verification_id"])

    def back_to_reachable(self) -> ResponseReturnValue:
        """To the furthest step the customer may be on."""
        wizard = self.wizard()
        if wizard.get("verified_id"):
            return self.go("password")
        if wizard.get("verification_id"):
            return self.go(_step_after_sending(wizard.get("channel")))
        return self.go("channel" if wizard.get("customer_id") else "number")


def _step_after_sending(channel: str | None) -> str:
    return "code" if channel == "sms" else "check_inbox"


class Number(Step):
    template = "number"

    def heading(self, form: FlaskForm | None) -> str | None:
        # The field's label is the step's <h1>; no_contact brings its own heading.
        return form.number.label.text if form is not None else None

    def get(self) -> ResponseReturnValue:
        return self.render(self.flow.number_form(number=self.wizard().get("number")))

    def post(self) -> ResponseReturnValue:
        form = self.flow.number_form()
        if not form.validate_on_submit():
            return self.render(form)
        try:
            customer = service.find_customer(self.flow, form.number.data)
        except (Problem, RateLimitExceeded) as problem:
            return self.refuse(form, problem)
        except service.NoContactData:
            heading = _("Contact the Customer Service Centre")
            return self.render(status=422, template="no_contact", heading=heading)
        state.replace(self.flow.name, customer_id=customer.id, number=form.number.data.strip())
        return self.go("channel")


class Channel(Step):
    template = "channel"

    def heading(self, form: FlaskForm | None) -> str | None:
        return self.flow.channel_question

    def get(self) -> ResponseReturnValue:
        customer = self.customer()
        if customer is None:
            return self.go("number")
        form = self.form(customer)
        chosen = self.wizard().get("channel")
        offered = form.offered
        form.channel.data = chosen or (offered[0] if len(offered) == 1 else None)
        if self.wizard().get("verification_id"):  # Back from the code or inbox step
            form.phone.data, form.email.data = service.proven_contact(customer, chosen)
        return self.render(form, **self.about(customer))

    def post(self) -> ResponseReturnValue:
        customer = self.customer()
        if customer is None:
            return self.go("number")
        form = self.form(customer)
        if not form.validate_on_submit():
            return self.render(form, **self.about(customer))
        channel = form.channel.data
        try:
            service.check_contact(customer, channel, form.typed_datum())
            record = service.send_secret(self.flow, customer, channel, again=False)
        except (Problem, RateLimitExceeded) as problem:
            db.session.rollback()
            return self.refuse(form, problem, **self.about(customer))
        state.save(self.flow.name, channel=channel, verification_id=record.id, verified_id=None)
        # The next step says it was sent in its own words: a second box would repeat it.
        flash(service.sent_message(customer, channel), "announce")
        return self.go(_step_after_sending(channel))

    @staticmethod
    def form(customer: Customer) -> ChannelForm:
        form = ChannelForm()
        form.offer(service.available_channels(customer))
        return form

    @staticmethod
    def about(customer: Customer) -> dict:
        return {"customer": customer, "available": service.available_channels(customer)}


# How many times one code step asks for its status fragment, at most.
STATUS_POLLS = 3


def _about_the_sms(customer: Customer, record: Verification, poll: int = 0) -> dict:
    """What the code step's notice "the SMS is late" needs (templates/wizard/_sms_late.html)."""
    return {
        "sms": code_sms(record),
        "email_offered": "email" in service.available_channels(customer),
        "next_poll": poll + 1 if poll < STATUS_POLLS else None,
    }


class Code(Step):
    template = "code"

    def heading(self, form: FlaskForm | None) -> str | None:
        return form.code.label.text if form is not None else None  # the label is the <h1>

    def get(self) -> ResponseReturnValue:
        customer, record = self.customer(), self.sent("sms")
        if customer is None or record is None:
            return self.back_to_reachable()
        return self.render(CodeForm(), customer=customer, **_about_the_sms(customer, record))

    def post(self) -> ResponseReturnValue:
        customer, record = self.customer(), self.sent("sms")
        if customer is None or record is None:
            return self.back_to_reachable()
        form = CodeForm()
        about = {"customer": customer, **_about_the_sms(customer, record)}
        if not form.validate_on_submit():
            return self.render(form, **about)
        try:
            accepted = self.wizard().get("verified_id") == record.id
            service.check_code(record, form.code.data or "", accepted_in_this_wizard=accepted)
        except (Problem, RateLimitExceeded) as problem:
            return self.refuse(form, problem, **about)
        state.save(self.flow.name, verified_id=record.id)
        return self.go("password")


class CodeStatus(Step):
    """The code step's notice alone, which the step asks for with JavaScript once the SMS
    would be late (a few times at most); the answer that brings the notice also fills the
    live region. Without JavaScript the code step shows it itself on reload."""

    def get(self) -> ResponseReturnValue:
        if not is_partial_request():
            return self.go("code")
        customer, record = self.customer(), self.sent("sms")
        about = {"sms": None}  # the code step has moved on: nothing to say, no more asking
        if customer is not None and record is not None:
            poll = request.args.get("poll", STATUS_POLLS, type=int)
            about = _about_the_sms(customer, record, poll)
        body = render_template(
            "wizard/_sms_late.html", step_url=self.step_url, announce=True, **about
        )
        response = make_response(body)
        response.headers["Vary"] = VARY
        return response


class CheckInbox(Step):
    template = "check_inbox"

    def heading(self, form: FlaskForm | None) -> str | None:
        return _("Check your e-mail")

    def get(self) -> ResponseReturnValue:
        customer = self.customer()
        if customer is None or self.sent("email") is None:
            return self.back_to_reachable()
        return self.render(customer=customer)


class Resend(Step):
    """A new code or link to the same channel, replacing the earlier one."""

    def post(self) -> ResponseReturnValue:
        customer, channel = self.customer(), self.wizard().get("channel")
        if customer is None or channel not in service.available_channels(customer):
            return self.back_to_reachable()
        try:
            record = service.send_secret(self.flow, customer, channel, again=True)
        except RateLimitExceeded:
            db.session.rollback()
            wait = throttle.retry_message()
            # Translators: a status message (a problem) after "Send the code/link again";
            # %(wait)s is a sentence saying when to try again ("Try again in 5 minutes (at
            # 16:45).").
            flash(_("A new code or link cannot be sent yet. %(wait)s", wait=wait), "problem")
            sent_before = self.wizard().get("verification_id")
            return self.go(_step_after_sending(channel) if sent_before else "channel")
        state.save(self.flow.name, verification_id=record.id, verified_id=None)
        flash(
            _("We have sent a new code.") if channel == "sms" else _("We have sent a new link."),
            "status",
        )
        return self.go(_step_after_sending(channel))


class OpenLink(Step):
    """The link from the e-mail: it proves the address and leads to the password step."""

    template = "link_problem"

    def get(self, token: str) -> ResponseReturnValue:
        outcome, record = verification.check_link(token, self.flow.purpose)
        db.session.commit()
        if outcome is Outcome.OK and record is not None:
            state.replace(
                self.flow.name,
                customer_id=record.customer_id,
                channel="email",
                verification_id=record.id,
                verified_id=record.id,
            )
            return self.go("password")
        can_resend = record is not None and outcome in (Outcome.EXPIRED, Outcome.SUPERSEDED)
        if record is not None and can_resend:
            # Lets "send a new link" work from here, to the address on file.
            state.replace(self.flow.name, customer_id=record.customer_id, channel="email")
        else:
            state.clear()
        return self.render(
            status=410 if record else 400,
            heading=link_problem_heading(outcome.value),
            link_problem=outcome.value,
            can_resend=can_resend,
        )


class Password(Step):
    template = "password"

    def heading(self, form: FlaskForm | None) -> str | None:
        return self.flow.password_heading

    def get(self) -> ResponseReturnValue:
        proved = self.proved()
        if proved is None:
            return self.back_to_reachable()
        return self.render(PasswordForm(), customer=proved[0])

    def post(self) -> ResponseReturnValue:
        proved = self.proved()
        if proved is None:
            return self.back_to_reachable()
        customer, record = proved
        form = PasswordForm()
        form.customer_number = customer.number
        if not form.validate_on_submit():
            return self.render(form, customer=customer)
        state.clear()
        if not verification.use_up(record.id):
            db.session.rollback()
            flash(_("This code or link has already been used."), "status")
            return self.go("number")
        completion = self.flow.complete(customer, record, form.password.data or "")
        if completion is Completion.REFUSED:
            flash(self.flow.refusal(customer) or "", "status")
            return redirect_to(url_for("auth.login"))
        if self.flow.signs_in and customer.account is not None:
            record_login(customer.account, succeeded=True)
            start_session(customer.account)
        flash(self.flow.done_message, "status")
        if not self.flow.signs_in and customer.account is not None:
            prefill_login(customer.account.login_name or customer.number)
        return redirect_to(url_for(self.flow.done_endpoint), leave_panel=self.flow.signs_in)

    def proved(self) -> tuple[Customer, Verification] | None:
        """The customer and the proved code or link the password may still be set with."""
        record = db.session.get(Verification, self.wizard().get("verified_id") or 0)
        customer = self.customer()
        if (
            customer is not None
            and record is not None
            and verification.still_usable(record)
            and record.customer_id == customer.id
        ):
            return customer, record
        if record is not None:  # it was reachable: say why it is not any more
            flash(
                _(
                    "Setting the password took too long or it has already been done. "
                    "Please start again."
                ),
                "status",
            )
            state.save(self.flow.name, verified_id=None, verification_id=None)
        return None


STEPS = (
    ("/", Number, "number"),
    ("/sposob", Channel, "channel"),
    ("/kod", Code, "code"),
    ("/kod/stan", CodeStatus, "code_status"),
    ("/sprawdz-poczte", CheckInbox, "check_inbox"),
    ("/wyslij-ponownie", Resend, "resend"),
    ("/link/<token>", OpenLink, "open_link"),
    ("/haslo", Password, "password"),
)


def add_steps(bp: Blueprint, flow: Flow) -> None:
    """Registers the wizard's steps for `flow` on the feature's blueprint."""
    for rule, view, name in STEPS:
        bp.add_url_rule(rule, view_func=view.as_view(name, flow=flow))
    bp.before_request(_logged_in_customers_go_home)


def _logged_in_customers_go_home() -> BaseResponse | None:
    if sessions.logged_in():
        return redirect_to(url_for("account.home"), leave_panel=True)
    return None
