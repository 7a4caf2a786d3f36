"""The wizard's views, made once for each flow by make_blueprint()."""

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ebok import verification
from ebok.extensions import db
from ebok.htmx import redirect_to, render_panel
from ebok.models import Customer, Verification
from ebok.passwords import new_password_problems
from ebok.throttle import Throttled
from ebok.verification import Outcome
from ebok.wizard import state, steps
from ebok.wizard.flow import Flow
from ebok.wizard.forms import CHANNEL_LABELS, ChannelForm, CodeForm, NumberForm, PasswordForm
from ebok.wizard.steps import StepError


def make_blueprint(flow: Flow) -> Blueprint:
    bp = Blueprint(flow.name, __name__, url_prefix=flow.url_prefix)
    endpoint = f"{bp.name}.%s"

    def step_url(step: str, **values) -> str:
        return url_for(endpoint % step, **values)

    def render(step: str, title: str, form=None, status: int = 200, **context):
        return render_panel(
            f"wizard/_{step}.html",
            title=title,
            form=form,
            status=status,
            flow=flow,
            step_url=step_url,
            **context,
        )

    def throttled_status(form, throttled: Throttled) -> int:
        form.form_errors.append(
            _("You have tried too many times. %(wait)s", wait=throttled.wait_message())
        )
        return 429

    def cancel():
        state.clear()
        return redirect_to(url_for("auth.login"))

    def wants(action: str) -> bool:
        return request.method == "POST" and request.form.get("action") == action

    def current_customer(wizard: dict) -> Customer | None:
        customer = db.session.get(Customer, wizard.get("customer_id") or 0)
        refusal = flow.refusal(customer) if customer is not None else None
        if refusal:  # finished in another tab or window, for example
            state.clear()
            flash(refusal, "status")
            return None
        return customer

    def furthest_step(wizard: dict) -> str:
        if wizard.get("verified_id"):
            return "password"
        if wizard.get("verification_id"):
            return "code" if wizard.get("channel") == "sms" else "check_inbox"
        if wizard.get("customer_id"):
            return "channel"
        return "number"

    def go_back_to_reachable(wizard: dict):
        return redirect_to(step_url(furthest_step(wizard)))

    @bp.before_request
    def logged_in_customers_do_not_register():
        if current_user.is_authenticated:
            return redirect_to(url_for("account.home"), leave_panel=True)
        return None

    @bp.route("/", methods=["GET", "POST"])
    def number():
        if wants("cancel"):
            return cancel()
        wizard = state.load(flow.name)
        form = NumberForm()
        form.number.label.text = flow.number_label
        status = 200
        if request.method == "GET" and wizard.get("number"):
            form.number.data = wizard["number"]
        if form.validate_on_submit():
            try:
                customer = steps.find_customer(flow, form.number.data)
            except StepError as problem:
                form.number.errors.append(problem.message)
                status = 422
            except Throttled as throttled:
                status = throttled_status(form, throttled)
            else:
                state.replace(flow.name, customer_id=customer.id, number=form.number.data.strip())
                return redirect_to(step_url("channel"))
        return render("number", flow.title, form, status)

    @bp.route("/sposob", methods=["GET", "POST"])
    def channel():
        if wants("cancel"):
            return cancel()
        wizard = state.load(flow.name)
        customer = current_customer(wizard)
        if customer is None:
            return redirect_to(step_url("number"))
        available = steps.available_channels(customer)
        form = ChannelForm()
        form.channel.choices = [(name, CHANNEL_LABELS[name]) for name in available]
        if request.method == "GET":
            form.channel.data = wizard.get("channel") or (
                available[0] if len(available) == 1 else None
            )
        status = 200
        if form.validate_on_submit():
            try:
                steps.check_contact(customer, form.channel.data, form.phone.data, form.email.data)
                record = steps.send_secret(
                    flow, customer, form.channel.data, endpoint % "open_link"
                )
            except StepError as problem:
                getattr(form, problem.field).errors.append(problem.message)
                status = 422
            except Throttled as throttled:
                db.session.rollback()
                status = throttled_status(form, throttled)
            else:
                state.save(
                    flow.name,
                    channel=form.channel.data,
                    verification_id=record.id,
                    verified_id=None,
                )
                flash(steps.sent_message(customer, form.channel.data), "status")
                return redirect_to(
                    step_url("code" if form.channel.data == "sms" else "check_inbox")
                )
        return render("channel", flow.title, form, status, customer=customer, available=available)

    @bp.route("/kod", methods=["GET", "POST"])
    def code():
        if wants("cancel"):
            return cancel()
        wizard = state.load(flow.name)
        customer = current_customer(wizard)
        record = _verification(wizard, "sms")
        if customer is None or record is None:
            return go_back_to_reachable(wizard)
        form = CodeForm()
        status = 200
        if form.validate_on_submit():
            try:
                steps.check_code(record, form.code.data)
            except StepError as problem:
                form.code.errors.append(problem.message)
                status = 422
            except Throttled as throttled:
                status = throttled_status(form, throttled)
            else:
                state.save(flow.name, verified_id=record.id)
                return redirect_to(step_url("password"))
        return render("code", flow.title, form, status, customer=customer)

    @bp.get("/sprawdz-poczte")
    def check_inbox():
        wizard = state.load(flow.name)
        customer = current_customer(wizard)
        if customer is None or _verification(wizard, "email") is None:
            return go_back_to_reachable(wizard)
        return render("check_inbox", flow.title, customer=customer)

    @bp.post("/wyslij-ponownie")
    def resend():
        """A new code or link to the same channel, replacing the earlier one."""
        wizard = state.load(flow.name)
        customer = current_customer(wizard)
        channel = wizard.get("channel")
        if customer is None or channel not in steps.available_channels(customer):
            return go_back_to_reachable(wizard)
        next_step = "code" if channel == "sms" else "check_inbox"
        try:
            record = steps.send_secret(flow, customer, channel, endpoint % "open_link")
        except Throttled as throttled:
            db.session.rollback()
            flash(
                _("A new code or link cannot be sent yet. %(wait)s", wait=throttled.wait_message()),
                "status",
            )
            if wizard.get("verification_id"):
                return redirect_to(step_url(next_step))
            return redirect_to(step_url("channel"))
        state.save(flow.name, verification_id=record.id, verified_id=None)
        flash(
            _("We have sent a new code.") if channel == "sms" else _("We have sent a new link."),
            "status",
        )
        return redirect_to(step_url(next_step))

    @bp.get("/link/<token>")
    def open_link(token: str):
        outcome, record = verification.check_link(token, flow.purpose)
        db.session.commit()
        if outcome is Outcome.OK:
            state.replace(
                flow.name,
                customer_id=record.customer_id,
                channel="email",
                verification_id=record.id,
                verified_id=record.id,
            )
            return redirect_to(step_url("password"))
        can_resend = record is not None and outcome in (Outcome.EXPIRED, Outcome.SUPERSEDED)
        if can_resend:
            # Lets "send a new link" work from here, to the address on file.
            state.replace(flow.name, customer_id=record.customer_id, channel="email")
        else:
            state.clear()
        return render(
            "link_problem",
            flow.title,
            status=410 if record else 400,
            outcome=outcome.value,
            can_resend=can_resend,
        )

    @bp.route("/haslo", methods=["GET", "POST"])
    def password():
        if wants("cancel"):
            return cancel()
        wizard = state.load(flow.name)
        customer = current_customer(wizard)
        record = db.session.get(Verification, wizard.get("verified_id") or 0)
        if (
            customer is None
            or not verification.still_usable(record)
            or record.customer_id != customer.id
        ):
            if record is not None:  # it was reachable: say why it is not any more
                flash(
                    _(
                        "Setting the password took too long or it has already been done. "
                        "Please start again."
                    ),
                    "status",
                )
                state.save(flow.name, verified_id=None, verification_id=None)
            return go_back_to_reachable(state.load(flow.name))
        form = PasswordForm()
        status = 200
        if form.validate_on_submit():
            problems = new_password_problems(
                form.password.data, form.password_repeat.data, customer.number
            )
            for field_name, field_problems in problems.items():
                getattr(form, field_name).errors.extend(field_problems)
            if not problems:
                if not verification.use_up(record.id):
                    db.session.rollback()
                    state.clear()
                    flash(_("This code or link has already been used."), "status")
                    return redirect_to(step_url("number"))
                state.clear()
                return flow.complete(customer, record, form.password.data)
            status = 422
        return render("password", flow.title, form, status, customer=customer)

    def _verification(wizard: dict, channel: str) -> Verification | None:
        if wizard.get("channel") != channel or not wizard.get("verification_id"):
            return None
        return db.session.get(Verification, wizard["verification_id"])

    return bp
