-- Every contact's client group lookup points at a loaded mig_clientgroup row
-- (the relationship the shared dv_contact yml cannot declare: the custom
-- table exists only in CorePlus runs).
select contacts.contactid
from {{ ref('dv_contact') }} as contacts
left join {{ ref('dv_mig_clientgroup') }} as groups
    on contacts.mig_clientgroupid = groups.mig_clientgroupid
where
    contacts.mig_clientgroupid is not null
    and groups.mig_clientgroupid is null
