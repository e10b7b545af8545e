//! `confidant rights`: the person's rights from the command line.

use anyhow::{Context, bail};
use confidant_core::rights::{Division, DueRule, due};
use confidant_core::uk_time::{day_text, iso_day};

use crate::args::RightsCommand;
use crate::config::Config;

pub(crate) fn run(config: &Config, command: RightsCommand) -> anyhow::Result<()> {
    match command {
        RightsCommand::Due {
            received,
            limit_days,
            stopped,
            extended,
            division,
        } => {
            let Some(start) = iso_day(&received) else {
                bail!("RECEIVED must be a date written YYYY-MM-DD");
            };
            let Some(division) = Division::from_code(&division) else {
                bail!("--division must be england-and-wales, scotland or northern-ireland");
            };
            if limit_days == Some(0) {
                bail!("--limit-days must be at least 1");
            }
            let holidays = config.bank_holidays()?;
            let rule = DueRule {
                start,
                stopped_days: stopped,
                extended,
                limit_days,
            };
            let found = due(&rule, &holidays, division).context("working out the due date (a newer bank holidays file goes in `bank_holidays_file`)")?;
            println!("due: {} ({})", found.date, day_text(found.date));
            println!("by: {}", found.explained());
            if stopped > 0 {
                println!("with {stopped} days stopped waiting for clarification");
            }
            println!("day one: {} ({})", start, day_text(start));
            let years = holidays.years(division);
            println!(
                "bank holidays: {} ({} to {})",
                division.label(),
                years.start(),
                years.end()
            );
        }
    }
    Ok(())
}
